import sys

from cars_stack.cli import main

sys.exit(main())
