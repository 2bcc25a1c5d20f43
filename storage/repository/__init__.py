"""The SQL side of `automation.ports.Repository` and `AdminRepository`: every query the domain core
needs, one module per subject, composed here into `SqlRepository`.

One `SqlRepository` lives for one transaction (a synchronous `Session`, possibly driven by an async
engine through `run_sync`). Small per-transaction caches keep hot lookups (own addresses, users by
address, settings) to one query each; they and the session live in `base.RepositoryBase`.

Time comes from the repository's clock (`now()`: the real UTC time unless the `Database` was given
another clock). Every row written here takes its timestamps from it, never from a model's column
default, so a desk built on a fake clock has every time on that clock.
"""

from __future__ import annotations

from automation.ports import AdminRepository, Repository
from storage.repository.actions import ActionsMixin
from storage.repository.audit import AuditMixin
from storage.repository.base import Clock
from storage.repository.channels import ChannelsMixin
from storage.repository.chat import ChatMixin
from storage.repository.conversations import ConversationsMixin
from storage.repository.coordination import CoordinationMixin
from storage.repository.events import EventsMixin, LocalEvent
from storage.repository.outbox import OutboxMixin
from storage.repository.people import PeopleMixin
from storage.repository.pipelines import PipelinesMixin
from storage.repository.properties import PropertiesMixin
from storage.repository.runs import RunsMixin
from storage.repository.settings import SettingsMixin
from storage.repository.snippets import SnippetsMixin
from storage.repository.ssh_keys import SshKeysMixin
from storage.repository.tags import TagsMixin
from storage.repository.tickets import TicketsMixin
from storage.repository.views import SavedViewsMixin
from storage.repository.workflows import WorkflowsMixin

__all__ = ["Clock", "LocalEvent", "SqlRepository"]


class SqlRepository(
    SettingsMixin,
    PeopleMixin,
    PipelinesMixin,
    WorkflowsMixin,
    RunsMixin,
    TicketsMixin,
    ConversationsMixin,
    ChannelsMixin,
    EventsMixin,
    OutboxMixin,
    ActionsMixin,
    CoordinationMixin,
    SshKeysMixin,
    TagsMixin,
    PropertiesMixin,
    SavedViewsMixin,
    SnippetsMixin,
    ChatMixin,
    AuditMixin,
):
    """One transaction's repository: `SqlRepository(session, clock=...)`."""


def _implements_the_ports(repo: SqlRepository) -> tuple[Repository, AdminRepository]:
    """Never called: mypy checks here that `SqlRepository` is both of the domain's ports.

    Entity parameters are `Any` in the mixins (the ports say which protocol): the models are what
    SqlRepository really takes, and a parameter typed with a model would not accept the
    protocol the port promises."""
    return repo, repo
