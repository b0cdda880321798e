"""First path segments of github.com that are GitHub's own pages, not owners.

``MOTTIE`` is the list from Mottie/github-reserved-names (MIT, 293 names,
https://github.com/Mottie/github-reserved-names; not complete). ``EXTRA``
adds product pages seen on github.com that it misses. Names that are real,
active organizations (``actions``, ``github``) are deliberately absent.
"""
from __future__ import annotations

MOTTIE = frozenset({
    "300", "302", "400", "401", "402", "403", "404", "405", "406", "407", "408", "409", "410",
    "411", "412", "413", "414", "415", "416", "417", "418", "419", "420", "421", "422", "423",
    "424", "425", "426", "427", "428", "429", "430", "431", "500", "501", "502", "503", "504",
    "505", "506", "507", "508", "509", "510", "511", "693", "694", "695", "900", "about",
    "account", "admin", "advisories", "anonymous", "any", "api", "apps", "attributes", "auth",
    "billing", "blob", "blog", "bounty", "branches", "business", "businesses", "c", "cache",
    "careers", "case-studies", "categories", "central", "certification", "changelog", "chat",
    "cla", "cloud", "codereview", "collection", "collections", "comments", "commit", "commits",
    "companies", "compare", "contact", "contributing", "cookbook", "copilot", "coupons",
    "customer", "customer-stories", "customers", "dashboard", "dashboard-feed", "dashboards",
    "design", "develop", "developer", "diff", "discover", "discussions", "downloads",
    "downtime", "editor", "editors", "edu", "education", "enterprise", "events", "explore",
    "featured", "features", "feed", "files", "fixtures", "forked", "garage", "ghost", "gist",
    "gists", "github-copilot", "graphs", "groups", "guide", "guides", "help", "help-wanted",
    "home", "hooks", "hosting", "hovercards", "identity", "images", "inbox", "individual",
    "info", "integration", "interfaces", "introduction", "invalid-email-address", "investors",
    "issues", "jobs", "join", "journal", "journals", "lab", "labs", "languages", "launch",
    "layouts", "learn", "legal", "library", "linux", "listings", "lists", "login", "logos",
    "logout", "mac", "maintenance", "malware", "man", "marketplace", "mention", "mentioned",
    "mentioning", "mentions", "migrating", "milestones", "mine", "mirrors", "mobile",
    "navigation", "network", "new", "news", "none", "nonprofit", "nonprofits", "notices",
    "notifications", "oauth", "offer", "open-source", "organisations", "organizations", "orgs",
    "pages", "partners", "payments", "personal", "plans", "plugins", "popular", "popularity",
    "posts", "press", "preview", "pricing", "professional", "projects", "pulls", "raw",
    "readme", "recommendations", "redeem", "releases", "render", "reply", "repos",
    "repositories", "resources", "restore", "revert", "save-net-neutrality", "saved",
    "scraping", "search", "security", "services", "sessions", "settings", "shareholders",
    "shop", "showcases", "signin", "signup", "site", "socials", "spam", "sponsors", "ssh",
    "staff", "starred", "stars", "static", "status", "statuses", "storage", "store", "stories",
    "styleguide", "subscriptions", "suggest", "suggestion", "suggestions", "support",
    "suspended", "talks", "teach", "teacher", "teachers", "teaching", "team", "teams", "ten",
    "terms", "timeline", "topic", "topics", "tos", "tour", "train", "training", "translations",
    "tree", "trending", "undefined", "updates", "user-attachments", "username", "users",
    "visualization", "w", "watching", "wiki", "wikis", "windows", "works-with", "www0", "www1",
    "www2", "www3", "www4", "www5", "www6", "www7", "www8", "www9",
})

EXTRA = frozenset({
    "accessibility", "codespaces", "enterprises", "git-guides",
    "password_reset", "premium-support", "sitemap", "solutions",
    "why-github",
})

RESERVED = MOTTIE | EXTRA
