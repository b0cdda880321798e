"""merge this round's parallel branches (PostgreSQL search, citations, hardening, and the digest,
reading and moderating branches) into one head

Revision ID: 0019
Revises: 0013p, 0015, 0016, 0018m
Create Date: 2026-12-01
"""
revision = '0019'
down_revision = ('0013p', '0015', '0016', '0018m')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
