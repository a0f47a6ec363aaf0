// Public API of @dynhead/sparse-conv.
export {};
