import { type PyramidLayout, pyramidRows } from '../pyramid';
import type { WebGPUProgramLike } from './masked-conv-program';
import { type LevelExprs, pyramidShaderKey, pyramidUniformsOf, type UniformData } from './pyramid-uniforms';
import { elementwiseDispatch, f32Literal, NEWLINE, range } from './webgpu-snippets';

/** What follows a level's scale: ReLU then the level's factor (FCOS's normalized box targets times the stride), or exp. */
export type LevelScalePost = { relu: true; factors: number[] } | { exp: true };

/**
 * Every level l of a packed pyramid X [P, C] times its own one-value scale S<l>, then the post step,
 * in one dispatch: FCOS's box outputs of all levels, `ReLU(scale_l * v) * stride_l` (or
 * `exp(scale_l * v)`), which per level took three ops each. The level sizes are uniforms, the
 * factors part of the shader (a head has one set).
 */
export class LevelScaleProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  uniforms?: string;
  uniformData?: UniformData;
  private readonly levels: LevelExprs;
  private readonly post: LevelScalePost;

  constructor(layout: PyramidLayout, channels: number, post: LevelScalePost) {
    const count = layout.sizes.length;
    if ('factors' in post && post.factors.length !== count) throw new Error(`LevelScaleProgram: ${post.factors.length} factors for ${count} levels`);
    this.variableNames = ['X', ...range(count).map((l) => `S${l}`)];
    ({ levels: this.levels, uniforms: this.uniforms, uniformData: this.uniformData } = pyramidUniformsOf(layout));
    this.post = post;
    this.outputShape = [pyramidRows(layout), channels];
    this.shaderKey = `dynheadLevelScale_${pyramidShaderKey(layout)}_${'factors' in post ? `relu_${post.factors.map(f32Literal).join('_')}` : 'exp'}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = elementwiseDispatch(this.outputShape));
  }

  getUserCode(): string {
    const count = this.levels.heights.length;
    const post = this.post;
    const levelOf = range(count)
      .slice(1)
      .map((l) => `if (row >= ${this.levels.starts[l]}) {
      s = f32(S${l}[0]);
      ${'factors' in post ? `f = ${f32Literal(post.factors[l])};` : ''}
    }`)
      .join(NEWLINE + '    ');
    return `
fn main(index : i32) {
  if (index < uniforms.size) {
    let row = index / uniforms.xShape[1];
    var s = f32(S0[0]);
    ${'factors' in post ? `var f = ${f32Literal(post.factors[0])};` : ''}
    ${levelOf}
    let v = f32(X[index]) * s;
    setOutputAtIndex(index, ${'factors' in post ? 'max(v, 0.0) * f' : 'exp(v)'});
  }
}
`;
  }
}
