"""The GraphQL endpoint of the gateway, and GraphiQL, its in-browser IDE, served offline."""
