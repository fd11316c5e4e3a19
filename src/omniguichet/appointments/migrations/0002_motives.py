from django.db import migrations


def load(apps, schema_editor):
    from omniguichet.appointments.services import load_appointment_motives

    load_appointment_motives(apps.get_model("appointments", "AppointmentMotive"))


class Migration(migrations.Migration):
    dependencies = [("appointments", "0001_initial"), ("crm", "0002_load_motives")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
