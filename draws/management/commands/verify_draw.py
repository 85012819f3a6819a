"""``manage.py verify_draw <event id>``: run the public verifier against the database.

It builds exactly what the API publishes (proof, entrant list, winners) and hands it to the
same check an outside auditor runs with tools/verify_draw.py.
"""

from django.core.management.base import BaseCommand, CommandError

from draws import fairness, selectors
from draws.serializers import ProofOutput, WinnersOutput
from lottery_site.errors import ApplicationError


class Command(BaseCommand):
    help = "Recompute a drawn event's winners from its proof and entrant list."

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="+", help="public event ids (e_...)")

    def handle(self, *args, event_ids, **options):
        failed = 0
        for event_id in event_ids:
            problems = self.verify(event_id)
            if problems:
                failed += 1
                self.stdout.write(self.style.ERROR(f"{event_id}: NOT CONFIRMED"))
                for problem in problems:
                    self.stdout.write(f"  - {problem}")
            else:
                self.stdout.write(self.style.SUCCESS(f"{event_id}: OK, winners confirmed"))
        if failed:
            raise CommandError(f"{failed} of {len(event_ids)} draws not confirmed")

    def verify(self, event_id: str) -> list[str]:
        try:
            event = selectors.event_for_proof(public_id=event_id)
        except ApplicationError:
            return ["no such event"]
        proof = ProofOutput(event).data
        if proof["seed"] is None:
            return ["not drawn yet"]
        published = WinnersOutput(selectors.winners_of(event=event)).data
        keys = (key for batch in selectors.stream_entrant_keys(event_id=event.pk) for key in batch)
        return fairness.verify(
            proof=proof,
            entrant_keys=keys,
            winners=published["winners"],
            unawarded=published["unawarded"],
        )
