from typing import Any

from django.db import migrations, models

CALICO_GROUPS = ("projectcalico.org", "crd.projectcalico.org")
CALICO_POLICY_KINDS = {"NetworkPolicy", "GlobalNetworkPolicy", "StagedNetworkPolicy", "StagedGlobalNetworkPolicy",
                       "StagedKubernetesNetworkPolicy"}
ADMIN_KINDS = {"AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"}


def key_of(kind: str, api_version: str, namespace: str, name: str) -> str:
    """engine.object_policy_key as it was when this migration was written."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    if group in CALICO_GROUPS:
        if kind not in CALICO_POLICY_KINDS:
            return ""
        kind = "CalicoNetworkPolicy" if kind == "NetworkPolicy" else kind
    elif kind == "NetworkPolicy" and group in ("networking.k8s.io", ""):
        pass
    elif kind in ADMIN_KINDS and group == "policy.networking.k8s.io":
        namespace = ""
    else:
        return ""
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def fill_policy_keys(apps: Any, schema_editor: Any) -> None:
    Resource = apps.get_model("policies", "Resource")
    kinds = ["NetworkPolicy", *CALICO_POLICY_KINDS, *ADMIN_KINDS]
    changed = []
    for resource in Resource.objects.filter(kind__in=kinds).only("kind", "api_version", "namespace", "name"):
        resource.policy_key = key_of(resource.kind, resource.api_version, resource.namespace, resource.name)
        if resource.policy_key:
            changed.append(resource)
    Resource.objects.bulk_update(changed, ["policy_key"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("policies", "0013_upload_draft")]

    operations = [
        migrations.AddField(
            model_name="resource",
            name="policy_key",
            field=models.CharField(blank=True, max_length=600),
        ),
        migrations.AddField(
            model_name="snapshot",
            name="objects_stored",
            field=models.BooleanField(default=True),
        ),
        migrations.AddIndex(
            model_name="resource",
            index=models.Index(fields=["snapshot", "policy_key"], name="policies_re_snapsho_0fd00a_idx"),
        ),
        migrations.AddField(
            model_name="analysispart",
            name="blob",
            field=models.BinaryField(null=True),
        ),
        migrations.AlterField(
            model_name="analysispart",
            name="data",
            field=models.JSONField(null=True),
        ),
        migrations.RunPython(fill_policy_keys, migrations.RunPython.noop),
    ]
