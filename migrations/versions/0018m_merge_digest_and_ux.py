"""merge the digest branch (0016d) and the reading and moderating branch (0018)

Revision ID: 0018m
Revises: 0016d, 0018
Create Date: 2026-12-01
"""
revision = '0018m'
down_revision = ('0016d', '0018')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
