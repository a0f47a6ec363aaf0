// Public API of @dynhead/coco.
export {};
