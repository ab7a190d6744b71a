"""`python -m services.router` runs the worker, like `supportdesk router`."""

from services.router.app import main

main()
