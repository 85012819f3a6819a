"""``manage.py verify_draw <event id>...``: run the public checks against the database.

It builds exactly what the API publishes (proof, entrant list, winners) and hands it to the
same check an outside auditor runs (``draws.proof.verify_report``, the rules of
docs/fairness.md), then checks what that pure module cannot: the BLS signature of every beacon
round in the proof (the draw's and each substitution's), against the chain the server pins
(``beacon.drand``).

Exit status: 0 when every event is confirmed (warnings, such as a cancel asked once the outcome
was public, are printed but do not fail it); 1 when any is not (printed per event), including
a draw that should have had a beacon and has none, and an event not settled yet.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from beacon import drand
from draws import selectors
from draws.proof import verify_report
from draws.serializers import ProofOutput, WinnersOutput
from events.models import Event
from lottery_site.errors import ApplicationError


class Command(BaseCommand):
    help = "Recompute drawn (or canceled) events from their proofs and entrant lists."

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="+", help="public event ids (e_...)")

    def handle(self, *args, event_ids, **options):
        failed = 0
        for event_id in event_ids:
            problems, notes = self.verify(event_id)
            for note in notes:
                self.stdout.write(self.style.WARNING(f"{event_id}: WARNING: {note}"))
            if problems:
                failed += 1
                self.stdout.write(self.style.ERROR(f"{event_id}: NOT CONFIRMED"))
                for problem in problems:
                    self.stdout.write(f"  - {problem}")
            else:
                self.stdout.write(self.style.SUCCESS(f"{event_id}: OK, winners confirmed"))
        if failed:
            raise CommandError(f"{failed} of {len(event_ids)} draws not confirmed")

    def verify(self, event_id: str) -> tuple[list[str], list[str]]:
        try:
            event = selectors.event_for_proof(public_id=event_id)
        except ApplicationError:
            return ["no such event"], []
        proof = ProofOutput(event).data
        if proof["seed"] is None:
            return ["not drawn yet"], []
        winners = unawarded = None
        if event.status == Event.Status.OPENED:
            published = WinnersOutput(selectors.winners_of(event=event)).data
            winners, unawarded = published["winners"], published["unawarded"]
        keys = (key for batch in selectors.stream_entrant_keys(event_id=event.pk) for key in batch)
        report = verify_report(proof=proof, entrant_keys=keys, winners=winners, unawarded=unawarded)
        return report.problems + signature_problems(proof), report.notes


def signature_problems(proof: dict) -> list[str]:
    """Every beacon round of the proof, BLS-checked under the chain this server pins."""
    if not proof.get("beacon_chain"):
        return []
    chain = drand.Chain.from_json(proof["beacon_chain"])
    pinned = drand.known_chains(settings.DRAND_CHAINS).get(chain.hash)
    problems = []
    if pinned is not None and pinned.public_key != chain.public_key:
        problems.append(f"beacon_chain: the key is not the pinned one of {chain.hash}")
    rounds = [("beacon", proof.get("beacon"), proof.get("beacon_round"))] + [
        (f"substitution #{number} beacon", sub.get("beacon"), sub.get("beacon_round"))
        for number, sub in enumerate(proof.get("substitutions") or [], start=1)
    ]
    for what, beacon, round_number in rounds:
        if beacon is None:
            continue
        try:
            drand.verify_signature(chain=chain, round_number=round_number, beacon=beacon)
        except drand.BeaconError as error:
            problems.append(f"{what}: {error}")
    return problems
