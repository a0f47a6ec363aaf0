// Public API of @dynhead/cli.
export {};
