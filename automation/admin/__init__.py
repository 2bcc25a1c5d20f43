"""Settings an admin changes (SPEC §1, §3–§5, §7), one module per subject:

- `defaults`: a new desk's pipeline, triggers, templates and admin (E15)
- `channels`: channels and their mail servers
- `triggers`: a pipeline's two triggers
- `workflows`: built-in status workflows, clones, switches, enrollment conditions
- `actions`: a workflow's actions (what each kind takes is `automation.action_kinds`')
- `templates`: email templates
- `pipelines`: pipelines and their statuses
- `limits`: loop limits on automated email and the branding line
- `people`: users (role, email, away) and teams with their members

Only admins change settings (SPEC §7); every function checks that first. Callers use the
package: `from automation import admin; admin.add_action(...)`.
"""

from __future__ import annotations

from automation.action_kinds.base import ActionFields
from automation.admin.actions import (
    MAX_NESTING,
    actions_to_delete,
    add_action,
    add_action_to_workflow,
    clone_action,
    comment_action,
    delete_action,
    edit_action,
    move_action,
    move_action_into,
    require_action_in_workflow,
)
from automation.admin.channels import (
    AUTH_MODES,
    CHANNEL_KINDS,
    LOOPBACK_HOSTS,
    MAIL_FIELDS,
    TLS_MODES,
    add_channel,
    channel_named,
    set_channel,
    set_channel_mail,
)
from automation.admin.common import SettingsError, pipeline_or_default, require_admin, status_in
from automation.admin.defaults import (
    DEFAULT_PIPELINE,
    DEFAULT_STATUSES,
    ensure_defaults,
    ensure_triggers,
)
from automation.admin.limits import (
    loop_limits,
    parse_limits,
    set_branding,
    set_loop_limits,
    set_old_mail_hours,
    set_undo_seconds,
    undo_window,
)
from automation.admin.people import (
    ROLES,
    PeopleRepository,
    add_member,
    add_team,
    add_user,
    clean_email,
    edit_user,
    remove_member,
    remove_team,
    remove_user,
    rename_team,
    set_away,
    set_login,
    set_role,
    tickets_of,
)
from automation.admin.pipelines import (
    add_pipeline,
    add_status,
    move_pipeline,
    move_status,
    remove_pipeline,
    remove_status,
    rename_pipeline,
    rename_status,
)
from automation.admin.templates import (
    EMPTY_VARIABLES,
    LINT_TICKETS,
    SAMPLE_VARIABLES,
    LintFailure,
    LintSample,
    check_text,
    delete_template,
    lint,
    lint_renders,
    lint_samples,
    preview_variables,
    rename_template,
    set_template,
    template_named,
    template_uses,
    uses_by_template,
)
from automation.admin.triggers import TRIGGER_KINDS, set_trigger
from automation.admin.workflows import (
    clone_workflow,
    delete_workflow,
    set_workflow,
    status_workflow,
    workflow_by_id,
)

__all__ = [
    "AUTH_MODES",
    "CHANNEL_KINDS",
    "DEFAULT_PIPELINE",
    "DEFAULT_STATUSES",
    "EMPTY_VARIABLES",
    "LINT_TICKETS",
    "LOOPBACK_HOSTS",
    "MAIL_FIELDS",
    "MAX_NESTING",
    "ROLES",
    "SAMPLE_VARIABLES",
    "TLS_MODES",
    "TRIGGER_KINDS",
    "ActionFields",
    "LintFailure",
    "LintSample",
    "PeopleRepository",
    "SettingsError",
    "actions_to_delete",
    "add_action",
    "add_action_to_workflow",
    "add_channel",
    "add_member",
    "add_pipeline",
    "add_status",
    "add_team",
    "add_user",
    "channel_named",
    "check_text",
    "clean_email",
    "clone_action",
    "clone_workflow",
    "comment_action",
    "delete_action",
    "delete_template",
    "delete_workflow",
    "edit_action",
    "edit_user",
    "ensure_defaults",
    "ensure_triggers",
    "lint",
    "lint_renders",
    "lint_samples",
    "loop_limits",
    "move_action",
    "move_action_into",
    "move_pipeline",
    "move_status",
    "parse_limits",
    "pipeline_or_default",
    "preview_variables",
    "remove_member",
    "remove_pipeline",
    "remove_status",
    "remove_team",
    "remove_user",
    "rename_pipeline",
    "rename_status",
    "rename_team",
    "rename_template",
    "require_action_in_workflow",
    "require_admin",
    "set_away",
    "set_branding",
    "set_channel",
    "set_channel_mail",
    "set_login",
    "set_loop_limits",
    "set_old_mail_hours",
    "set_role",
    "set_template",
    "set_trigger",
    "set_undo_seconds",
    "set_workflow",
    "status_in",
    "status_workflow",
    "template_named",
    "template_uses",
    "tickets_of",
    "undo_window",
    "uses_by_template",
    "workflow_by_id",
]
