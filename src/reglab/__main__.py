from reglab.cli import main

main()
