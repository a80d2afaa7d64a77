"""The ground floor: what every app needs and no app owns (errors, the request context, mail, the task retry
policy, pagination, lookups by code or name, prepared statements). It imports nothing from the project's apps."""
