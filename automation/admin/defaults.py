"""A new desk's defaults (E15): the default pipeline and its statuses, every pipeline's two
triggers, the built-in templates and an admin."""

from __future__ import annotations

from automation.ports import AdminRepository, PipelineLike
from automation.templates import BUILTIN_TEMPLATES, builtin_template_text
from automation.triggers import DEFAULT_TARGETS, TRIGGER_NAMES

DEFAULT_PIPELINE = "Support Pipeline"
DEFAULT_STATUSES = (
    ("New", "OPEN"),
    ("Waiting on contact", "OPEN"),
    ("Waiting on us", "OPEN"),
    ("Closed", "CLOSED"),
)


def ensure_defaults(repo: AdminRepository, admin_name: str = "admin") -> list[str]:
    """E15: the default pipeline, its two triggers, the two templates and an admin; idempotent.

    Returns what was created, for the user to read.
    """
    created: list[str] = []
    pipeline = repo.pipeline_by_name(DEFAULT_PIPELINE)
    if pipeline is None and not repo.pipelines():
        pipeline = repo.add_pipeline(DEFAULT_PIPELINE)
        for label, state in DEFAULT_STATUSES:
            repo.add_status(pipeline.id, label, state)
        created.append(f"pipeline “{DEFAULT_PIPELINE}”")
    for each in repo.pipelines():
        created += ensure_triggers(repo, each)
    for name in BUILTIN_TEMPLATES:
        if repo.template_by_name(name) is None:
            subject, body = builtin_template_text(name)
            repo.add_template(name, subject, body, builtin=True)
            created.append(f"template “{name}”")
    if not any(u.is_admin for u in repo.users()):
        repo.add_user(admin_name, display_name="Administrator", email=None, is_admin=True)
        created.append(f"admin user “{admin_name}”")
    repo.instance_id()
    repo.secret()
    return created


def ensure_triggers(repo: AdminRepository, pipeline: PipelineLike) -> list[str]:
    created = []
    statuses = {s.label: s for s in repo.statuses(pipeline.id)}
    for kind, target in DEFAULT_TARGETS.items():
        if repo.trigger(pipeline.id, kind) is None:
            status = statuses.get(target)
            repo.add_trigger(pipeline.id, kind, status.id if status else None)
            created.append(f"trigger “{TRIGGER_NAMES[kind]}” in {pipeline.name}")
    return created
