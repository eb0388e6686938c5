from cidrep.cli import main

main()
