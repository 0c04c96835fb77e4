from pathlib import Path

import django.db.models.deletion
import django_fsm
from django.conf import settings
from django.db import migrations, models


# Written while another migration of this app (expertise offers, 0005) was being
# made beside it: this one comes after it when it exists, so that the graph has
# one leaf in every state of the tree. Once both are committed this can become a
# plain dependency.
_AFTER = [name for name in ("0005_expertise_offers",) if (Path(__file__).parent / f"{name}.py").exists()]


class Migration(migrations.Migration):

    dependencies = [
        ('parties', '0001_initial'),
        ('questionnaire', '0004_evidence_edit'),
        ('reviews', '0004_cycles_groups_workflow_deadlines'),
        *[('reviews', name) for name in _AFTER],
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='job',
            name='kind',
            field=models.CharField(choices=[('review_summary', 'Review summary (DOCX)'), ('cluster_report', 'Cluster report (XLSX)'), ('final_documents', 'Final documents of a review (DOCX and PDF)'), ('ta_report', 'Technical-assistance needs compiled (XLSX or PDF)')], max_length=32),
        ),
        migrations.CreateModel(
            name='TechnicalAssistanceNeed',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('category', models.CharField(choices=[('legislative', 'Legislative drafting and legal advice'), ('institution_building', 'Institution building'), ('training_law_enforcement', 'Training of law enforcement'), ('training_customs', 'Training of customs and border officials'), ('training_judiciary', 'Training of prosecutors and judges'), ('marking_equipment', 'Marking equipment'), ('record_keeping', 'Record-keeping and registry systems'), ('secure_storage', 'Secure storage of seized items'), ('destruction', 'Destruction'), ('data_collection', 'Data collection and analysis'), ('international_cooperation', 'International cooperation'), ('other', 'Other')], max_length=32, verbose_name='category')),
                ('priority', models.CharField(blank=True, choices=[('high', 'High'), ('medium', 'Medium'), ('low', 'Low')], max_length=16, verbose_name='priority')),
                ('status', django_fsm.FSMField(choices=[('identified', 'Identified'), ('requested', 'Requested'), ('being_delivered', 'Being delivered'), ('met', 'Met'), ('withdrawn', 'Withdrawn')], default='identified', max_length=16, protected=True, verbose_name='status')),
                ('text', models.TextField(blank=True, verbose_name='details')),
                ('source', models.CharField(choices=[('answer', 'Answer to the questionnaire'), ('observation', 'Agreed observation')], max_length=16, verbose_name='source')),
                ('current', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('status_changed_at', models.DateTimeField(blank=True, null=True)),
                ('article', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='questionnaire.article', verbose_name='article')),
                ('observation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='reviews.observation')),
                ('question', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='questionnaire.question')),
                ('response', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='questionnaire.response')),
                ('state', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='parties.state', verbose_name='State')),
                ('status_changed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['state__name', 'article__number', 'category', 'pk'],
                'indexes': [models.Index(fields=['state', 'status'], name='ta_need_state_status')],
                'constraints': [
                    models.UniqueConstraint(condition=models.Q(('source', 'answer')), fields=('response', 'question', 'category'), name='one_ta_need_per_answer_category'),
                    models.UniqueConstraint(condition=models.Q(('source', 'observation')), fields=('observation',), name='one_ta_need_per_observation'),
                    models.CheckConstraint(condition=models.Q(models.Q(('observation__isnull', True), ('question__isnull', False), ('response__isnull', False), ('source', 'answer')), models.Q(('observation__isnull', False), ('question__isnull', True), ('response__isnull', True), ('source', 'observation')), _connector='OR'), name='ta_need_has_one_source'),
                ],
            },
        ),
    ]
