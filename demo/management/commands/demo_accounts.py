from django.core.management.base import BaseCommand

from demo.loader import DEMO_PASSWORD
from demo.selectors import list_demo_accounts


class Command(BaseCommand):
    help = "Print the demo accounts and the shop each demo seller owns (the `make run` banner)."

    def handle(self, *args, **options):
        self.stdout.write(f"demo accounts (password for all: {DEMO_PASSWORD})")
        for account in list_demo_accounts():
            self.stdout.write(f"  {account.role:<7} {account.email:<20} {account.note}".rstrip())
        self.stdout.write("  a seller sees only their own shop in the admin (/admin/)")
