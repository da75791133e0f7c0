from resolution.cli import main

main()
