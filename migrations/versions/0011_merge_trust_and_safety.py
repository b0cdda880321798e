"""merge the parallel branches (moderation, account security, notifications, digest index) into one head

Revision ID: 0011
Revises: 0007, 0008, 0009, 0010
Create Date: 2026-11-29
"""
revision = '0011'
down_revision = ('0007', '0008', '0009', '0010')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
