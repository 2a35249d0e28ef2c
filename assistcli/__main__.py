from assistcli.cli import main

main()
