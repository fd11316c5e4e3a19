from django.db import migrations


def load(apps, schema_editor):
    from omniguichet.crm.services import load_motives

    load_motives(apps.get_model("crm", "Motive"))


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
