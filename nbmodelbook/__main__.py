from nbmodelbook.cli import main

raise SystemExit(main())
