// Public API of @dynhead/fpn.
export {};
