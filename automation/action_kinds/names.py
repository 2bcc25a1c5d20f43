"""A pipeline and a status as an admin names them, for the kinds that send a ticket to a status
(move, clone) and for `automation.admin`, which re-exports the lookups."""

from __future__ import annotations

from typing import Any

from automation.action_kinds.base import ActionFields, CliOption, SettingsError
from automation.ports import AdminRepository, PipelineLike, Repository, StatusLike

TARGET_PIPELINE = CliOption(
    ("--target-pipeline",),
    {"metavar": "P", "help": "with --move-to or --clone-ticket: the pipeline"},
)


def pipeline_or_default(repo: AdminRepository, name: str | None) -> Any:
    """The pipeline named, or the first. Typed `Any`: callers hand it on to storage functions
    that take the repository's own row type."""
    if name:
        pipeline = repo.pipeline_by_name(name)
        if pipeline is None:
            known = ", ".join(p.name for p in repo.pipelines())
            raise SettingsError(f"no pipeline {name!r} (pipelines: {known})")
        return pipeline
    pipelines = repo.pipelines()
    if not pipelines:
        raise SettingsError("no pipeline: run `deskline init` first")
    return pipelines[0]


def status_in(repo: AdminRepository, pipeline: PipelineLike, label: str) -> StatusLike:
    for status in repo.statuses(pipeline.id):
        if status.label.casefold() == label.strip().casefold():
            return status
    known = ", ".join(s.label for s in repo.statuses(pipeline.id))
    raise SettingsError(f"no status {label!r} in {pipeline.name} (statuses: {known})")


def target_status(repo: AdminRepository, fields: ActionFields) -> dict[str, Any]:
    """The status `value` of pipeline `target_name` (default: the first pipeline)."""
    pipeline = pipeline_or_default(repo, fields.get("target_name"))
    return {"status_id": status_in(repo, pipeline, fields.get("value") or "").id}


def target_place(repo: Repository, config: dict[str, Any]) -> str:
    """ "Pipeline / Status" of the config's status, "" when it has none or it was removed."""
    status = repo.status(config.get("status_id")) if config.get("status_id") else None
    return f"{repo.pipeline(status.pipeline_id).name} / {status.label}" if status else ""
