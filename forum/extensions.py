"""Flask extensions, created unbound; ``create_app`` binds them."""
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

from forum.limiter import PerAppLimiter, user_or_address

# Named constraints, so migrations can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate(render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
# Moving window: a limit of 5 per hour means 5 in any hour, with no burst at a window's edge,
# and the wait we tell people is exact. Storage errors fall back to per-process memory.
limiter = PerAppLimiter(key_func=user_or_address, strategy="moving-window",
                        in_memory_fallback_enabled=True)
