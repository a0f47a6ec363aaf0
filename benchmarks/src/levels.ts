/**
 * FPN level sizes for an image: the detector pads the image to a multiple of 32 (FCOS's size
 * divisibility), P3..P5 are the padded size over 8, 16, 32, and P6 / P7 come from stride-2 3x3
 * convs with padding 1 (ceil halving).
 */
export interface ImageSize {
  height: number;
  width: number;
}

export const FULL_IMAGE: ImageSize = { height: 800, width: 1333 };

export function levelShapes(image: ImageSize, levels = 5): [number, number][] {
  if (!(image.height > 0 && image.width > 0)) throw new Error(`levelShapes: image size must be positive, got ${image.height}x${image.width}`);
  const pad = (n: number) => Math.ceil(n / 32) * 32;
  const shapes: [number, number][] = [];
  let h = pad(image.height) / 8;
  let w = pad(image.width) / 8;
  for (let l = 0; l < levels; l++) {
    shapes.push([h, w]);
    if (l < 2) {
      h /= 2;
      w /= 2;
    } else {
      h = Math.ceil(h / 2);
      w = Math.ceil(w / 2);
    }
  }
  return shapes;
}

export function pixelCount(shapes: [number, number][]): number {
  return shapes.reduce((n, [h, w]) => n + h * w, 0);
}
