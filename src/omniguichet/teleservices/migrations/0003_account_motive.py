from django.db import migrations


def load(apps, schema_editor):
    from omniguichet.teleservices.services import load_motives

    load_motives(apps.get_model("crm", "Motive"))


class Migration(migrations.Migration):
    dependencies = [("teleservices", "0002_motives")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
