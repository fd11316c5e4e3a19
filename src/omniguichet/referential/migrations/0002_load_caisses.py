from django.db import migrations


def load(apps, schema_editor):
    from omniguichet.referential.services import load_caisses

    load_caisses(apps.get_model("referential", "Caisse"))


class Migration(migrations.Migration):
    dependencies = [("referential", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
