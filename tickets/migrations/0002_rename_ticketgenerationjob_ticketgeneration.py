# The ticket generation queue's model is TicketGeneration (it is not a ledger Job). Its table
# keeps its name (Meta.db_table), so neither operation changes the database.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
    ]

    operations = [
        migrations.RenameModel(
            old_name="TicketGenerationJob",
            new_name="TicketGeneration",
        ),
        migrations.AlterField(
            model_name="ticketgeneration",
            name="booking",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="ticket_generation",
                to="tickets.booking",
            ),
        ),
    ]
