"""OAuth2 credentials on gateways (issue 13)

Reserved in the revision chain so parallel work lands in a fixed order; the
revision's owner fills it in.

"""

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
