// Public API of @dynhead/router.
export {};
