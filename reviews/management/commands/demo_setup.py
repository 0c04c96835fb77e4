"""Everything a newcomer needs to try every role at once. Idempotent."""

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from parties.models import Membership, State
from questionnaire.models import Cluster, Response
from questionnaire.services import response_submit
from reviews.demo import answer_all_required, answer_technical_assistance, demo_second_factor, demo_technical_assistance
from reviews.models import Review, ReviewCycle, ReviewGroup
from reviews.services import cycle_launch
from reviews.services_workflow import experts_appoint, focal_point_appoint, review_groups_draw

DEMO_PASSWORD = "review-demo-2026"
UNDER_REVIEW = ["GHA", "MEX", "ALB", "KEN", "ARG", "ITA"]
Role = Membership.Role


class Command(BaseCommand):
    help = "Load States and the questionnaire, create demo users and a launched review cycle; print the logins."

    def handle(self, **options):
        call_command("load_states", stdout=self.stdout)
        call_command("load_questionnaire", stdout=self.stdout)
        call_command("load_recommendations", stdout=self.stdout)
        with transaction.atomic():
            logins = self._demo()
        self.stdout.write("\nDemo logins (password for all: %s):" % DEMO_PASSWORD)
        for email, what in logins:
            self.stdout.write(f"  {email:<34} {what}")
        self.stdout.write(
            "\nEvery account has a second factor (TOTP). After the password, type the code that"
            "\n  python manage.py demo_code <e-mail>"
            "\nprints, or add the account's secret (demo_code --secret) to an authenticator app."
            "\n\nOpen http://127.0.0.1:8000 and sign in.\n"
        )

    def _user(self, email, first, last, role, state=None):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=email, defaults={"email": email, "first_name": first, "last_name": last}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        demo_second_factor(user)
        Membership.objects.get_or_create(user=user, state=state, role=role, is_active=True)
        return user

    def _workflow(self, secretariat, cycle, mexico_review, fp_mexico, reviewer):
        """The three review groups, and Mexico's review with its focal point and the
        reviewer appointed as expert (the rest shows as next steps and reminders)."""
        if not ReviewGroup.objects.exists():
            review_groups_draw(first_year=2020, seed="demo", by=secretariat)
        if not mexico_review.focal_points.exists():
            focal_point_appoint(review=mexico_review, state=mexico_review.state, user=fp_mexico, by=secretariat)
        slot = mexico_review.assignments.get(slot="same_group")
        if not slot.expert_appointments.exists():
            experts_appoint(assignment=slot, users=[reviewer], by=secretariat)

    def _offers(self, secretariat, fp_ghana, ghana):
        """Expertise that matches Mexico's record-keeping needs (South-South from Ghana)."""
        from reviews.models import ExpertiseOffer
        from reviews.services_registry import expertise_offer_create

        if ExpertiseOffer.objects.exists():
            return
        for number in (5, 7):
            expertise_offer_create(
                by=fp_ghana, state=ghana, article_number=number, category="record_keeping",
                description="Peer advice on the electronic firearms registry of the Ghana National Commission on Small Arms.",
                contact="registry@demo.test",
            )
        expertise_offer_create(
            by=secretariat, state=None, programme="UNODC Global Firearms Programme", article_number=5,
            category="record_keeping", description="Legislative and record-keeping assistance missions.",
            contact="firearms@demo.test",
        )

    def _demo(self):
        states = {s.iso3: s for s in State.objects.filter(iso3__in=UNDER_REVIEW)}
        ghana, mexico = states["GHA"], states["MEX"]
        secretariat = self._user("secretariat@demo.test", "Sam", "Secretariat", Role.SECRETARIAT)
        fp_ghana = self._user("focal.point.gh@demo.test", "Ama", "Mensah", Role.FOCAL_POINT, ghana)
        self._user("contributor.gh@demo.test", "Kofi", "Owusu", Role.CONTRIBUTOR, ghana)
        fp_mexico = self._user("focal.point.mx@demo.test", "Lucía", "Hernández", Role.FOCAL_POINT, mexico)
        self._user("observer.mx@demo.test", "Olga", "Observer", Role.OBSERVER, mexico)
        cluster = Cluster.objects.get(instrument__code="firearms_protocol", code="I")
        year = timezone.localdate().year
        cycle = ReviewCycle.objects.filter(cluster=cluster, year=year).first()
        if cycle is None:
            cycle = cycle_launch(
                cluster=cluster, year=year, states=[states[c] for c in UNDER_REVIEW], by=secretariat, seed="demo"
            )
        mexico_review = Review.objects.select_related("response").get(cycle=cycle, state=mexico)
        if mexico_review.response.status == Response.Status.DRAFT:
            answer_all_required(mexico_review.response, fp_mexico)
            answer_technical_assistance(mexico_review.response, fp_mexico)
            response_submit(response=mexico_review.response, by=fp_mexico)
        reviewing = mexico_review.assignments.select_related("reviewing_state").get(slot="same_group").reviewing_state
        reviewer = self._user(f"reviewer.{reviewing.iso2.lower()}@demo.test", "Rafael", "Reviewer", Role.REVIEWER,
                              reviewing)
        self._workflow(secretariat, cycle, mexico_review, fp_mexico, reviewer)
        demo_technical_assistance(state=mexico, focal_point=fp_mexico)
        self._offers(secretariat, fp_ghana, ghana)
        other = mexico_review.assignments.select_related("reviewing_state").get(slot="other_group").reviewing_state
        return [
            ("secretariat@demo.test", "secretariat: cycles, draw, jobs and reports"),
            ("focal.point.gh@demo.test", f"focal point of {ghana.name}: answer and submit cluster I"),
            ("contributor.gh@demo.test", f"contributor of {ghana.name}: drafts answers, cannot submit"),
            ("focal.point.mx@demo.test", f"focal point of {mexico.name}: submitted; replies to reviewers"),
            ("observer.mx@demo.test", f"observer for {mexico.name}: reads its review, dialogue and observations"),
            (f"reviewer.{reviewing.iso2.lower()}@demo.test",
             f"reviewer for {reviewing.name}: reviews {mexico.name} (other reviewer: {other.name})"),
        ]
