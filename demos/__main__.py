import sys

try:
    from demos.cli import main  # quick (the demos are imported inside main), but a Ctrl-C may still land here
except KeyboardInterrupt:
    sys.exit(130)

sys.exit(main())
