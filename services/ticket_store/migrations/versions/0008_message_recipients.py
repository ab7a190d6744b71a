"""To and Cc kept on messages (issue 13)

Reserved in the revision chain so parallel work lands in a fixed order; the
revision's owner fills it in.

"""

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
