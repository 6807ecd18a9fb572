from scripts.doomgps import main

main()
