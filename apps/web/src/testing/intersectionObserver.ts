/**
 * happy-dom lays nothing out, so nothing ever intersects: this IntersectionObserver lets a test say
 * when an element enters or leaves the viewport, which is all the timeline reacts to.
 */
export class TestIntersectionObserver implements IntersectionObserver {
  static readonly instances = new Set<TestIntersectionObserver>()
  readonly root = null
  readonly rootMargin: string
  readonly thresholds = [0]
  readonly targets = new Set<Element>()

  constructor(
    private readonly callback: IntersectionObserverCallback,
    options: IntersectionObserverInit = {},
  ) {
    this.rootMargin = options.rootMargin ?? '0px'
    TestIntersectionObserver.instances.add(this)
  }

  observe(target: Element): void {
    this.targets.add(target)
  }

  unobserve(target: Element): void {
    this.targets.delete(target)
  }

  disconnect(): void {
    this.targets.clear()
    TestIntersectionObserver.instances.delete(this)
  }

  takeRecords(): IntersectionObserverEntry[] {
    return []
  }

  /** Reports every observed element matching `selector` as (not) intersecting. */
  static setVisible(selector: string, isIntersecting: boolean): void {
    for (const observer of TestIntersectionObserver.instances) {
      const entries = [...observer.targets]
        .filter((target) => target.matches(selector))
        .map((target) => ({ target, isIntersecting, intersectionRatio: isIntersecting ? 1 : 0 }) as IntersectionObserverEntry)
      if (entries.length > 0) observer.callback(entries, observer)
    }
  }
}
