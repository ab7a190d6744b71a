"""dead letters, gateway health and the mail-log indexes (issue 11)

Reserved in the revision chain so parallel work lands in a fixed order; the
revision's owner fills it in.

"""

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
