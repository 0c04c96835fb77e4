# Expertise offers (issue 5, item 2), for matching with technical-assistance needs.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('parties', '0001_initial'),
        ('reviews', '0004_cycles_groups_workflow_deadlines'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ExpertiseOffer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('programme', models.CharField(blank=True, max_length=200, verbose_name='programme')),
                ('article_number', models.PositiveSmallIntegerField(verbose_name='article')),
                ('category', models.CharField(choices=[('legislative', 'Legislative drafting and legal advice'), ('institution_building', 'Institution building'), ('training_law_enforcement', 'Training of law enforcement'), ('training_customs', 'Training of customs and border officials'), ('training_judiciary', 'Training of prosecutors and judges'), ('marking_equipment', 'Marking equipment'), ('record_keeping', 'Record-keeping and registry systems'), ('secure_storage', 'Secure storage of seized items'), ('destruction', 'Destruction'), ('data_collection', 'Data collection and analysis'), ('international_cooperation', 'International cooperation'), ('other', 'Other')], max_length=32, verbose_name='category')),
                ('description', models.TextField(verbose_name='description')),
                ('contact', models.CharField(max_length=300, verbose_name='contact')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('state', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='parties.state', verbose_name='State')),
            ],
            options={
                'ordering': ['article_number', 'category', 'pk'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('state__isnull', False), ('programme', '')), models.Q(('state__isnull', True), models.Q(('programme', ''), _negated=True)), _connector='OR'), name='expertise_offer_state_or_programme')],
            },
        ),
    ]
