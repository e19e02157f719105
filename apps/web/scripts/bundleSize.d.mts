export declare const PAGES: Record<string, string[]>
export declare function bundleSizes(dist?: string): Record<string, { files: string[]; gzipBytes: number }>
