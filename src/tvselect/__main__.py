from tvselect.cli import main

raise SystemExit(main())
