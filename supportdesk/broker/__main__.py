"""`python -m supportdesk.broker`: see `cli`."""

import sys

from supportdesk.broker.cli import main

sys.exit(main())
