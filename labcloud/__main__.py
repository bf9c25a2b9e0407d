from labcloud.cli.main import main

main()
