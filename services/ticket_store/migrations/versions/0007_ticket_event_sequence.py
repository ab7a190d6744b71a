"""a per-ticket event sequence for tickets.events (issue 11)

Reserved in the revision chain so parallel work lands in a fixed order; the
revision's owner fills it in.

"""

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
