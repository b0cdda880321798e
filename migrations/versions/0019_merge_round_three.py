"""merge the parallel branches of this round (search, citations, hardening, digest) into one head

Revision ID: 0019
Revises: 0013p, 0015, 0016, 0016d
Create Date: 2026-12-01
"""
revision = '0019'
down_revision = ('0013p', '0015', '0016', '0016d')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
