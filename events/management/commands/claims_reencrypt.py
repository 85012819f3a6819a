from django.core.management.base import BaseCommand

from events.claims import claims_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt stored claim data with the first CLAIM_ENCRYPTION_KEYS key (key rotation)."

    def handle(self, *args, **options):
        count = claims_reencrypt()
        self.stdout.write(f"re-encrypted {count} claims")
