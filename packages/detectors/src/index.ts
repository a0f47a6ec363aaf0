// Public API of @dynhead/detectors.
export {};
